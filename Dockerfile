# syntax=docker/dockerfile:1
# Build: a static binary (pure-Go SQLite, no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/loket ./cmd/loket \
 && mkdir -p /out/data

# Run: nothing but the binary, its CA certificates and a data volume, as non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/loket /usr/local/bin/loket
COPY --from=build --chown=65532:65532 /out/data /data
ENV LOKET_HTTP_ADDR=:8080 \
    LOKET_DATA_DIR=/data \
    LOKET_LOG_FORMAT=json
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/loket", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/loket"]
CMD ["serve"]
