# Files a command touches through its options or its expansions, not its plain
# operands. Each writer is slow (a pipeline that waits for sleep): a command
# that misses the order starts at once and finds nothing yet.
mkdir out
sleep 0.3 | cat > a.txt
# Pathname expansion reads the directory, whatever the command (echo, expr).
echo *.txt
expr a.txt : *.txt
x='*.txt'
echo $x
# sort -o among other options (-uo) writes its file.
printf 'b\na\nb\n' > in
sleep 0.3 | sort -uo sorted - in
cat sorted
# cp -t DIR, --target-directory=DIR write into DIR.
cp -tout a.txt
cp --target-directory=out in
ls out
# date -r FILE reads FILE.
sleep 0.3 | cat > stamp
date -r stamp +ok
# sha256sum -c reads the files its list names.
echo hi > c.txt
sha256sum c.txt > sums
{ sleep 0.3; cat sums; } | sha256sum -c
echo bye > c.txt
# gzip -S writes FILE.SUFFIX.
sleep 0.3 | cat > g
gzip -n -S .z g
wc -c < g.z
# ln TARGET alone makes ./BASENAME.
mkdir sub
sleep 0.3 | cat > sub/data.txt
ln -s sub/data.txt
cat data.txt
