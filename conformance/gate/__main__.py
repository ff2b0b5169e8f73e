import sys

from conformance.gate.cli import main

sys.exit(main())
