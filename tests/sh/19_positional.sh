# Positional parameters: set --, shift, $#, "$@".
set -- one two "three four"
echo "count $#"
echo "first $1"
shift
echo "now $1 and $2"
for a in "$@"; do echo "arg [$a]"; done
set --
echo "count $#"
