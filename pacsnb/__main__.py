"""``python -m pacsnb`` runs the command line."""
import sys

from pacsnb.cli import main

sys.exit(main())
