# table.awk (after parse.awk): one Markdown table per benchmark.
END {
	for (i = 1; i <= nbench; i++) {
		b = benches[i]
		if (nbench > 1) print "### " b "\n"
		print "| case | figure | upstream | kubelite | kubelite ÷ upstream |"
		print "|---|---|---:|---:|---:|"
		for (j = 1; j <= nkeys[b]; j++) {
			k = keys[b, j]
			r = ratio(k)
			rs = r == "" ? "–" : sprintf("%.2f×", r)
			if (r != "") rs = rs (((higher(kunit[k]) && r >= 1) || (!higher(kunit[k]) && r <= 1)) ? " ✓" : "")
			print "| " (kcase[k] == "" ? "–" : kcase[k]) " | " kunit[k] " | " num(val(k, "upstream")) " | " num(val(k, "kubelite")) " | " rs " |"
		}
		print ""
	}
}
