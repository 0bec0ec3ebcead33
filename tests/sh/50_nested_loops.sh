# Nested loops: what a command of the inner loop touches depends on the outer loop's variable, and
# must be derived again for each outer turn: y's appends are not x's, the sort of y.out waits for them.
for a in x y; do
  for b in 1 2 3; do
    sleep 0.1
    echo "$a$b" >> "$a.out"
  done
  sort -r "$a.out" > "$a.sorted"
done
cat x.sorted y.sorted

# Outer words from a variable, inner from literals; the count waits for every append of its turn.
dirs="m n"
for a in $dirs; do
  for b in 1 2; do
    sleep 0.1
    echo "$a$b" >> "$a.log"
  done
  wc -l < "$a.log" > "$a.count"
done
cat m.count n.count

# Three levels: the middle variable names the directory, removed at the end of its own turn.
for a in p q; do
  for b in 1 2; do
    mkdir -p "$a$b"
    for c in u v; do
      sleep 0.1
      echo "$a$b$c" > "$a$b/$c"
    done
    cat "$a$b/u" "$a$b/v" > "$a$b.both"
    rm -r "$a$b"
  done
done
cat p1.both q2.both
ls

# The outer variable changed inside the inner loop: later turns see the new value.
for a in r s; do
  for b in 1 2; do
    echo "$b" > "$a.$b"
    a=$a$b
  done
  cat "$a.2" 2>&1 || echo "no $a.2"
done
ls
