# Globs: a reader of *.log waits for the writers of .log files.
echo a > x.log
echo b > y.log
cat *.log > all.txt
echo c > z.log
ls *.log
cat all.txt
wc -c *.log | tail -n 1
