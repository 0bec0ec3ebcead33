# Pipelines, with ! and a failing stage.
printf 'c\nb\na\nb\n' > letters
sort letters | uniq > uniq.txt
cat letters | sort -r | head -n 2
! grep -q z letters
echo "not found: $?"
false | true
echo "status $?"
true | false
echo "status $?"
grep b letters | wc -l > count.txt
cat uniq.txt count.txt
