# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone in a minimal image as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/countersign ./cmd/countersign \
 && mkdir -p /out/var/lib/countersign \
 && echo 'countersign:x:65532:65532:countersign:/var/lib/countersign:/sbin/nologin' > /out/passwd \
 && echo 'countersign:x:65532:' > /out/group

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build --chown=65532:65532 /out/var/lib/countersign /var/lib/countersign
COPY --from=build /out/countersign /usr/local/bin/countersign
USER 65532:65532
WORKDIR /var/lib/countersign
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/countersign"]
CMD ["serve", "--config", "/etc/countersign/countersign.yaml"]
