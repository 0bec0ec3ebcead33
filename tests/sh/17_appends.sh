# Several commands append to one file: the order is the script's.
echo first >> log.txt
echo second >> log.txt
sort /dev/null >> log.txt
printf 'third\n' >> log.txt
seq 1 3 >> log.txt
echo fourth >> log.txt
cat log.txt
wc -l log.txt
