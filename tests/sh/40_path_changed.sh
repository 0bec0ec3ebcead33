# Once the script puts its own folder before the others on PATH, a name such
# as cat may find another program (here one that also writes a log): such a
# command may touch any file. Folders added at the end change nothing.
mkdir -p bin
printf '#!/bin/sh\nsleep 0.3\necho wrapped >> log\nexec /bin/cat "$@"\n' > bin/cat
chmod +x bin/cat
PATH=$PWD/bin:$PATH
echo x > in
cat in
wc -l < log
PATH=/nonexistent:$PATH cat in
wc -l < log
