"""titleforge's Prefect flows and the `titleforge` command line."""

import os

# Prefect gives its temporary server (used when no server runs) 20 s to start; on a busy 2-core
# machine it can need more, and the run then fails before any work is done. Set before Prefect
# is imported (it reads its settings then); a value the user sets still wins.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
