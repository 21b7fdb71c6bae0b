# pgarchive in a container: the build stage makes the .deb with scripts/package, the runtime
# stage installs it on debian:bookworm-slim exactly as scripts/release-check does in a fresh
# Debian root (that script is what proves these steps; no container engine runs in CI).
#
#   docker build -t pgarchive .
#   docker run --rm -e ARCHIVE_DB_PASSWORD -e AWS_REGION pgarchive archive --db-host db --table flights ...

# --- build: Swift toolchain, the -dev libraries, scripts/build + scripts/package -------------
# The Swift the project is built and tested with (scripts/setup's machine: 6.3); override with
# --build-arg SWIFT_IMAGE=... for another 6.1+ toolchain image on bookworm.
ARG SWIFT_IMAGE=swift:6.3-bookworm
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpq-dev libzstd-dev liblz4-dev libcurl4-openssl-dev libssl-dev zlib1g-dev pkg-config dpkg-dev binutils git python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/package --output /dist

# --- runtime: the .deb on bookworm-slim, a non-root user -------------------------------------
FROM debian:bookworm-slim AS runtime
COPY --from=build /dist/*.deb /tmp/
RUN apt-get update \
 && cd /tmp && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ./pgarchive_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/*.deb \
 && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin archiver
USER 10001:10001
WORKDIR /home/archiver
# The cache and the task file live in ARCHIVE_HOME; mount a volume there (Kubernetes: an emptyDir).
ENV ARCHIVE_HOME=/home/archiver/.data-archiver \
    TMPDIR=/tmp
ENTRYPOINT ["data-archiver"]
CMD ["--help"]
