# getopts keeps its place inside a group of options (-ab) in the shell: a while
# loop over it runs whole, a getopts outside one sends the rest to one sh.
set -- -ab -c x
while getopts abc: o; do echo "opt $o ${OPTARG-}"; done
echo "ind $OPTIND"
shift $((OPTIND - 1)); echo "rest $*"
set -- -xy
OPTIND=1
getopts xy o; echo "first $o"
getopts xy o; echo "second $o"
f() { getopts pq o; echo "f $o"; }
set -- -pq
OPTIND=1
f
f
