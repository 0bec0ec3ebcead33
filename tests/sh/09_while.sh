# while and until with counters kept in files.
echo 0 > n
while [ "$(cat n)" -lt 5 ]; do
  echo "$(( $(cat n) + 1 ))" > n
  echo "tick $(cat n)" >> log
done
cat log
echo 3 > m
until [ "$(cat m)" -eq 0 ]; do
  expr "$(cat m)" - 1 > m.tmp
  mv m.tmp m
  echo "m=$(cat m)"
done
i=0
while [ $i -lt 3 ]; do
  echo "i=$i"
  i=$((i + 1))
done
echo "final i=$i"
