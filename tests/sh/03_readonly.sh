# Read-only commands on the same inputs run together; outputs in order.
seq 1 50 > n1
seq 20 70 > n2
wc -l n1
head -n 3 n1
tail -n 2 n2
cut -c1 n1 | sort | uniq -c | head -n 3
diff n1 n2 > n.diff
echo "diff: $?"
cmp n1 n1 && echo same
md5sum n1 n2
sha256sum n1
grep -c 5 n1 n2
sort -n -r n1 -o n1.rev
head -n 1 n1.rev
