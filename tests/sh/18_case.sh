# case, with patterns and a default.
for v in apple banana cherry 42; do
  case $v in
    a*) echo "$v starts with a" ;;
    b*|c*) echo "$v starts with b or c" ;;
    [0-9]*) echo "$v is a number" >> numbers ;;
    *) echo other ;;
  esac
done
cat numbers
kind=unknown
case x in x) kind=x ;; esac
echo "kind=$kind"
