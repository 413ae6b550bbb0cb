# TicketGuard: the service on port 8000 with the default model built into the image.
# Build: docker build -t ticketguard .     Run: docker run -p 8000:8000 ticketguard
# Stage 1 builds the wheel; stage 2 installs it (not editable) with the pinned dependencies.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . .
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TICKETGUARD_CACHE_DIR=/var/lib/ticketguard \
    TICKETGUARD_HOST=0.0.0.0 \
    TICKETGUARD_PORT=8000
# the CPU build of torch (the same pin as pyproject.toml and requirements/lock.txt)
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY requirements/lock.txt /tmp/lock.txt
COPY --from=wheel /wheels /wheels
RUN pip install -c /tmp/lock.txt /wheels/ticketguard-*.whl && rm -rf /wheels
# convert the embedded base and fine-tune the default model on the corpus shipped in the wheel,
# now rather than at the first start
RUN ticketguard build

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["ticketguard", "serve"]
