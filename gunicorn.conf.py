"""gunicorn settings shared by every deployment: `gunicorn -c gunicorn.conf.py 'app:create_app()'`.

Command-line options (workers, bind, ...) come on top; this file only holds the worker hooks.
"""


def post_worker_init(worker):
    from app import prepare_worker

    prepare_worker()
