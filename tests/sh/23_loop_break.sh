# break and continue: the loop runs whole.
for i in 1 2 3 4 5; do
  [ "$i" = 2 ] && continue
  [ "$i" = 4 ] && break
  echo "i=$i" >> loop.txt
done
cat loop.txt
n=0
while true; do
  n=$((n + 1))
  if [ $n -ge 3 ]; then break; fi
done
echo "n=$n"
