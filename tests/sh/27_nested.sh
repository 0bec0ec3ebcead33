# Nested loops and conditions, with files as the only shared state.
for d in one two; do
  mkdir "$d"
  for n in 1 2 3; do
    echo "$d-$n" > "$d/$n.txt"
  done
  if [ "$d" = two ]; then
    cat "$d/1.txt" "$d/3.txt"
  else
    wc -l "$d/2.txt"
  fi
done
count=0
while [ $count -lt 2 ]; do
  for f in one/*.txt; do
    cat "$f" >> "all$count.txt"
  done
  count=$((count + 1))
done
cat all0.txt all1.txt | sort | uniq -c
