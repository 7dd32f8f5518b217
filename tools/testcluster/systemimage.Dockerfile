# The test cluster's in-cluster image (pod sandbox + DNS): one static binary, nothing else.
FROM scratch
COPY systemimage /systemimage
USER 65534
ENTRYPOINT ["/systemimage", "pause"]
