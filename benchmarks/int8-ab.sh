#!/bin/sh
# int8-ab.sh REPS CMD_A... -- CMD_B... : runs two `msc bench` commands alternately REPS times and prints the
# best median and the best min of each (and B/A). Both commands must print msc bench's "latency" line.
# On a shared, noisy machine only alternated best medians / mins are comparable; env switches
# (`env MSC_INT8_GEMV=0 msc bench ...`) give A/B within one binary.
R=$1; shift
A=""; while [ "$1" != "--" ]; do A="$A $1"; shift; done; shift; B="$*"
ma=999; mb=999; na=999; nb=999
for k in $(seq "$R"); do
  for w in A B; do
    if [ $w = A ]; then c=$A; else c=$B; fi
    l=$($c 2>&1 | grep latency)
    med=$(echo "$l" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p'); mn=$(echo "$l" | sed -n 's/.*min \([0-9.]*\) ms.*/\1/p')
    if [ $w = A ]; then ma=$(echo "$ma $med" | awk '{print ($2<$1)?$2:$1}'); na=$(echo "$na $mn" | awk '{print ($2<$1)?$2:$1}');
    else mb=$(echo "$mb $med" | awk '{print ($2<$1)?$2:$1}'); nb=$(echo "$nb $mn" | awk '{print ($2<$1)?$2:$1}'); fi
  done
done
echo "A median $ma min $na | B median $mb min $nb | B/A median $(awk -v a=$ma -v b=$mb 'BEGIN{printf "%.3f", b/a}') min $(awk -v a=$na -v b=$nb 'BEGIN{printf "%.3f", b/a}')"
