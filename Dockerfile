# One image for every service of docker-compose.yml: web, worker, beat, flower and the Twilio
# sandbox differ only in their command, a script of docker/.
FROM python:3.11.14-slim-bookworm

# No .pyc files written beside the code at run time; every log line reaches `docker logs` at once.
# The image runs the production settings and reads no dotenv file: the environment is its config.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    DJANGO_ENV_FILE=""

# The processes run as this user; the code stays root's, so they cannot change it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
       --shell /usr/sbin/nologin app

WORKDIR /app

# The pinned dependencies first: this layer is rebuilt only when a requirements file changes.
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/production.txt

COPY . .

# Static files are collected once, at build time, with the production storage (hashed names,
# compressed). The production settings refuse to load without a secret key and hosts: throwaway
# values given to this one command, never an ENV or ARG, so no layer carries a secret.
# Production logs to stdout only, but the base settings make logs/ for their log file, and
# LOG_FILE=logs/sms.log must work: the directory is the app user's.
RUN DJANGO_SECRET_KEY=build-only-not-secret DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput -v0 \
    && mkdir -p logs \
    && chown app:app logs

# Numeric, so that an orchestrator can verify it is not root (runAsNonRoot).
USER 10001:10001

EXPOSE 8000
CMD ["/app/docker/start-web"]
