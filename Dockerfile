# trailbell in a container: a static musl binary (the `dist` profile) on distroless's static base,
# which has CA certificates (for Slack and AWS over TLS) and a non-root user, and nothing else.
#   docker build -t trailbell .
#   docker run -v trailbell-data:/data -e TRAILBELL_SLACK_WEBHOOK_URL=... trailbell
# docs/INSTALL.md shows the whole way; scripts/test checks this file with hadolint.

FROM rust:1.95-bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
ENV CC_x86_64_unknown_linux_musl=musl-gcc
RUN cargo build --profile dist --locked -p trailbell --bin trailbell \
        --target x86_64-unknown-linux-musl \
    && install -D -m 0755 target/x86_64-unknown-linux-musl/dist/trailbell /out/trailbell \
    && install -d -m 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/trailbell /usr/local/bin/trailbell
# The store (SQLite) lives here: keep it on a volume so that alerts in the outbox survive a restart.
COPY --from=build --chown=65532:65532 /out/data /data
ENV TRAILBELL_DATA_DIR=/data
VOLUME ["/data"]
# The EventBridge-compatible API. It listens on 0.0.0.0 only with authentication on: give a
# configuration (TRAILBELL_CONFIG) with [[api.access_keys]] and listen = "0.0.0.0:9820".
EXPOSE 9820
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/trailbell"]
CMD ["run"]
