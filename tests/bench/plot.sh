#!/usr/bin/env bash
# Draws bench.png from a run's summary.csv (tests/bench/run.sh calls it; run it again by hand
# to redraw): server CPU, forwarded packets per CPU second, and one-way latency against calls.
#   tests/bench/plot.sh RESULTS_DIR [TITLE]
set -euo pipefail
dir=$1
title=${2:-Balie vs Janus videocall}
s=$dir/summary.csv
command -v gnuplot >/dev/null || { echo "gnuplot is not installed"; exit 1; }
gnuplot <<PLOT
set terminal pngcairo size 1500,480 font ",10" noenhanced
set output "$dir/bench.png"
set datafile separator ","
set multiplot layout 1,3 title "$title"
set key top left
set grid
set xlabel "concurrent calls"
set ylabel "server CPU (cores)"
plot "< grep '^balie' $s" using 2:7 with linespoints lw 2 title "Balie", \
     "< grep '^janus' $s" using 2:7 with linespoints lw 2 title "Janus"
set ylabel "forwarded packets per server CPU second"
plot "< grep '^balie' $s" using 2:8 with linespoints lw 2 title "Balie", \
     "< grep '^janus' $s" using 2:8 with linespoints lw 2 title "Janus"
set ylabel "one-way latency through the server (us)"
set logscale y
plot "< grep '^balie' $s" using 2:9 with linespoints lw 2 title "Balie p50", \
     "< grep '^balie' $s" using 2:10 with linespoints lw 2 title "Balie p99", \
     "< grep '^janus' $s" using 2:9 with linespoints lw 2 dt 2 title "Janus p50", \
     "< grep '^janus' $s" using 2:10 with linespoints lw 2 dt 2 title "Janus p99"
unset multiplot
PLOT
echo "plot: $dir/bench.png"
