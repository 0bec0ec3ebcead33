# `cmd &` runs in the background: the rest of the script runs as one sh.
echo before > a.txt
sleep 0.3 > /dev/null &
echo started
wait
echo "after wait" >> a.txt
false &
