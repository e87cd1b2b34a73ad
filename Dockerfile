# syntax=docker/dockerfile:1
# siaga112 container image: one static binary on a distroless base, run as a
# non-root user. Build: docker build -t siaga112 .   (docker-compose.yml does it)

# --- build ------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so editing code does not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a fully static binary that runs on a base image without libc.
# -trimpath and no VCS stamping keep builds reproducible from the same source.
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# timetzdata embeds the zone database in the binary, so reports.time_zone
# (Asia/Makassar) resolves on any base image, not only one that ships tzdata.
RUN go build -trimpath -tags timetzdata -ldflags "-s -w" -o /out/siaga112 ./cmd/siaga112 \
 && go build -trimpath -ldflags "-s -w" -o /out/siaga112-healthcheck ./deploy/healthcheck \
 && mkdir -p /out/state/spool /out/state/nats

# --- run --------------------------------------------------------------------
# distroless/static: CA certificates, /etc/passwd with the nonroot user
# (65532), tzdata (the binary embeds its own copy too), and nothing else - no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/siaga112 /out/siaga112-healthcheck /usr/local/bin/
# The state directory belongs to the service user, so a fresh named volume
# mounted here starts with the right owner.
COPY --from=build --chown=65532:65532 /out/state /var/lib/siaga112
USER 65532:65532
VOLUME ["/var/lib/siaga112"]
# Dashboard, API, /metrics and /healthz (http.listen).
EXPOSE 8112
ENTRYPOINT ["/usr/local/bin/siaga112"]
CMD ["serve"]
# Checks liveness (/livez) on the default listen address; docker-compose.yml
# repeats it with the address it configures. /healthz is for alerting.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/siaga112-healthcheck", "http://127.0.0.1:8112/livez"]
