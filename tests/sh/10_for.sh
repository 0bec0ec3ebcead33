# for over a literal list, over variables, over a glob.
for f in a b c; do
  echo "file $f" > "$f.txt"
done
for f in a b c; do
  sort "$f.txt" > "$f.sorted"
done
echo "last f=$f"
list="x y"
for w in $list z; do
  echo "word $w"
done
for t in *.txt; do
  echo "found $t"
done
for e in; do echo never; done
cat a.sorted b.sorted c.sorted
