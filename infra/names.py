"""Names the stack and the setup commands share, in a module that imports nothing heavy (no CDK)."""

APP_NAME = "social-listening"
SECRETS_PREFIX = f"/{APP_NAME}/"  # the SSM Parameter Store path the Chalice policy lets the functions read
