# headlines.awk (after parse.awk): the figures issue 12 sets targets for,
# with the target beside each.
function fig(b, c, u) { return b SUBSEP c SUBSEP u }
function line(what, k, sooner, target,   r) {
	r = ratio(k)
	if (r == "") return
	if (sooner) printf "| %s | %s | %s | %.1f× sooner (%.2f×) | %s |\n", what, num(val(k, "upstream")), num(val(k, "kubelite")), 1 / r, r, target
	else printf "| %s | %s | %s | %.2f× | %s |\n", what, num(val(k, "upstream")), num(val(k, "kubelite")), r, target
}
END {
	print "| figure | upstream | kubelite | kubelite vs upstream | target |"
	print "|---|---:|---:|---:|---|"
	line("control plane start to /readyz ok (ms)", fig("BenchmarkControlPlane", "", "ms-to-ready"), 1, "≥5× sooner")
	line("control plane start to first node Ready (ms)", fig("BenchmarkControlPlane", "", "ms-to-node-Ready"), 1, "≥5× sooner")
	line("control plane CPU seconds to /readyz ok", fig("BenchmarkControlPlane", "", "CPU-s-to-ready"), 0, "")
	line("control plane CPU seconds to first node Ready", fig("BenchmarkControlPlane", "", "CPU-s-to-node-Ready"), 0, "")
	line("control plane idle RSS (MiB)", fig("BenchmarkControlPlane", "", "MiB-RSS-idle"), 0, "≤0.4×")
	line("control plane RSS with 10,000 ConfigMaps (MiB)", fig("BenchmarkControlPlane", "", "MiB-RSS-10k-objects"), 0, "")
	line("API server alone: start to ready (ms)", fig("BenchmarkStartup", "", "ms-to-ready"), 1, "")
	line("API server alone: RSS settled (MiB)", fig("BenchmarkStartup", "", "MiB-RSS-settled"), 0, "")
	# API throughput: the geometric mean of the ops/s ratios, and the range,
	# for each comparison (control-planes, api-servers).
	b = "BenchmarkAPILatency"
	nm = 0
	for (j = 1; j <= nkeys[b]; j++) {
		k = keys[b, j]
		m = kcase[k]; sub(/\/.*/, "", m)
		if (kunit[k] != "ops/s" || ratio(k) == "" || ratio(k) <= 0) continue
		if (!(m in nops)) { modes[++nm] = m; nops[m] = 0; logsum[m] = 0 }
		r = ratio(k)
		nops[m]++; logsum[m] += log(r)
		if (!(m in lo) || r < lo[m]) { lo[m] = r; locase[m] = kcase[k] }
		if (!(m in hi) || r > hi[m]) { hi[m] = r; hicase[m] = kcase[k] }
	}
	for (i = 1; i <= nm; i++) {
		m = modes[i]
		printf "| API throughput, %s: ops/s of %d cases (create, get, update, list, watch × concurrency) | | | %.2f× (geometric mean; %.2f× %s to %.2f× %s) | ≥1× |\n", m, nops[m], exp(logsum[m] / nops[m]), lo[m], locase[m], hi[m], hicase[m]
	}
	b = "BenchmarkScheduler"
	for (j = 1; j <= nkeys[b]; j++) {
		k = keys[b, j]
		if (kunit[k] == "pods/s") line("scheduler pods/s, " kcase[k], k, 0, "≥2×")
	}
	# The scheduler's own CPU: both schedulers share one API server, whose CPU
	# per pod bounds the pods/s ratio on a small machine (bench/SCHEDULER.md).
	for (j = 1; j <= nkeys[b]; j++) {
		k = keys[b, j]
		if (kunit[k] == "CPU-s") line("scheduler CPU seconds, " kcase[k], k, 0, "")
	}
	line("Deployment to all Ready (s)", fig("BenchmarkDeploymentReady", "", "s-to-all-Ready"), 1, "")
	# Pod startup on the real node: the node agent beside the kubelet, at
	# each rate pods were created at (the case, every-<interval>).
	b = "BenchmarkPodStartupLatency"
	for (pass = 1; pass <= 2; pass++)
		for (j = 1; j <= nkeys[b]; j++) {
			k = keys[b, j]
			rate = kcase[k]; sub(/^every-/, "", rate); sub(/ms$/, " ms", rate)
			if (pass == 1 && (kunit[k] == "p50-ms" || kunit[k] == "p99-ms"))
				line("pod startup " substr(kunit[k], 1, 3) " (ms), one pod every " rate, k, 1, "")
			if (pass == 2 && kunit[k] == "machine-cpu-s")
				line("pod startup: machine CPU seconds per round, one pod every " rate, k, 0, "")
		}
}
