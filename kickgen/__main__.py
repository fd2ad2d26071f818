import sys

from kickgen.cli import main

sys.exit(main())
