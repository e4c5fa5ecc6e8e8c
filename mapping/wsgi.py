"""The WSGI entry point gunicorn serves: `gunicorn mapping.wsgi:app`."""
from mapping import create_app

app = create_app()
