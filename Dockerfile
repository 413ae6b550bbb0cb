# TicketGuard: the service on port 8000 with the default model built into the image.
# Build: docker build -t ticketguard .     Run: docker run -p 8000:8000 ticketguard
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TICKETGUARD_CACHE_DIR=/var/lib/ticketguard \
    TICKETGUARD_HOST=0.0.0.0 \
    TICKETGUARD_PORT=8000

WORKDIR /app
# the CPU build of torch (the same pin as pyproject.toml)
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY models ./models
COPY training ./training
COPY service ./service
COPY cli ./cli
COPY relabel ./relabel
COPY data ./data
COPY scripts ./scripts
RUN pip install -e .
# convert the embedded base and fine-tune the default model now, not at first request
RUN ticketguard build

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["ticketguard", "serve"]
