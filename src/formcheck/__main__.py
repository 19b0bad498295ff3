"""`python -m formcheck analyze ...` and `python -m formcheck batch ...`"""

import sys

from formcheck.cli import main

sys.exit(main())
