# Hoiva server image: one process per container; see compose.yaml and README "Deploying".
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY hoiva ./hoiva
COPY protocol ./protocol
COPY signaling ./signaling
COPY media ./media
COPY care_sessions ./care_sessions
COPY care_services ./care_services
COPY client_kit ./client_kit
COPY tablet_client ./tablet_client
COPY web ./web
COPY store ./store
COPY netlab ./netlab
# Exactly the versions CI tested: one lock for everything, so the image carries the test tools too.
RUN pip install --no-cache-dir --require-hashes -r requirements.lock \
    && pip install --no-cache-dir --no-deps --no-build-isolation . \
    && useradd --system --home /app hoiva && mkdir -p /app/var && chown hoiva /app/var
USER hoiva
EXPOSE 8080
# Media (WebRTC) uses UDP ports chosen per call; run with host networking or publish a range.
CMD ["hoiva", "serve"]
