"""The idle-stop Lambda (policy 14): an hourly audit of SM-14-idle-endpoint that stops idle endpoints."""
