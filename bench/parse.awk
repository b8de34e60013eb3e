# parse.awk: reads `go test -bench` output into figures that table.awk and
# headlines.awk print. A benchmark's name has a part "upstream" or
# "kubelite" (its side); the rest of its path is its case. A metric whose
# unit starts with "upstream-" is upstream's figure on a line of its own
# (BenchmarkDeploymentReady); other lines without a side are kubelite's.
# Ratios the benchmarks report themselves are dropped: they are recomputed.
# Repeated lines (-count, -benchtime Nx of several lines) are averaged.
#
# bench[b]: benchmarks in order; cases[b, i], metrics: keys b SUBSEP case SUBSEP unit.
/^Benchmark/ && NF >= 4 {
	name = $1
	sub(/-[0-9]+$/, "", name)
	n = split(name, parts, "/")
	b = parts[1]
	side = ""
	c = ""
	for (i = 2; i <= n; i++) {
		if (parts[i] == "upstream" || parts[i] == "kubelite") side = parts[i]
		else c = c (c == "" ? "" : "/") parts[i]
	}
	if (!(b in nkeys)) { nkeys[b] = 0; benches[++nbench] = b }
	for (i = 3; i < NF; i += 2) {
		v = $i; u = $(i + 1)
		if (u == "ns/op" || u ~ /vs-upstream|^ratio-|^speedup/) continue
		s = side
		if (u ~ /^upstream-/) { s = "upstream"; sub(/^upstream-/, "", u) }
		else if (s == "") s = "kubelite"
		k = b SUBSEP c SUBSEP u
		if (!(k in seen)) { seen[k] = 1; keys[b, ++nkeys[b]] = k; kcase[k] = c; kunit[k] = u }
		sum[k, s] += v; cnt[k, s]++
	}
}

function val(k, s) { return cnt[k, s] ? sum[k, s] / cnt[k, s] : "" }
# higher: whether more is better for unit u (rates).
function higher(u) { return u ~ /\/s/ }
function num(v) {
	if (v == "") return "–"
	if (v >= 100 || v <= -100) return sprintf("%.0f", v)
	if (v >= 10 || v <= -10) return sprintf("%.1f", v)
	return sprintf("%.2f", v)
}
function ratio(k,   u, kv) {
	u = val(k, "upstream"); kv = val(k, "kubelite")
	if (u == "" || kv == "" || u == 0) return ""
	return kv / u
}
