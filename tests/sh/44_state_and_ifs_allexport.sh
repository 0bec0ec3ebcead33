# The script's IFS and set -a around jx's own epilogue: a status whose digits
# are in IFS, and jx's own variables, which set -a would export.
set -a
x=1
env | grep -c "^__jx" || true
set +a
export -p | grep -c __jx || true
IFS=2
read x < /nonexistent
echo "status $?"
set -e
IFS=1
cd /nonexistent
echo notreached
