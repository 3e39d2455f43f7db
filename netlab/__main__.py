"""`python -m netlab run PROFILE -- COMMAND`: the lab by hand, as `hoiva lab run`."""

import sys

from netlab.cli import main

sys.exit(main())
