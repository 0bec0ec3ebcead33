# Functions: defined, called, redefined, with arguments and return codes.
greet() {
  echo "hello $1"
}
greet alice
greet bob > bob.txt
check() { [ "$1" -gt 2 ]; }
check 5 && echo "5 > 2"
check 1 || echo "1 <= 2"
counter=0
bump() { counter=$((counter + 1)); }
bump
bump
echo "counter=$counter"
greet() { echo "hi $1"; }
greet carol
cat bob.txt
