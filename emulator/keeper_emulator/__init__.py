"""ssm-keeper's corrections of moto, one module per AWS service (see emulator/launch.py)."""
