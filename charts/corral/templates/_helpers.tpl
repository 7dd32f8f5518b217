{{/* Names ----------------------------------------------------------------- */}}
{{- define "corral.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "corral.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "corral.labels" -}}
{{ include "corral.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The runner pod labels: ONE definition, used by the runner template the agent
     receives AND by the runner NetworkPolicy's podSelector, so they cannot drift. */}}
{{- define "corral.runnerLabels" -}}
{{ include "corral.selectorLabels" . }}
app.kubernetes.io/component: runner
io.corral.sandbox: runner
{{- with .Values.runner.labels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* image reference: repository@digest when a digest is pinned, else repository:tag */}}
{{- define "corral.image" -}}
{{- $img := index .root.Values.images .name -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (default .root.Chart.AppVersion $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* checkov CKV_K8S_43 wants digests. Tags are what local clusters and first installs
     use, so the skip is added only while no digest is pinned (ci/digests.yaml pins them). */}}
{{- define "corral.digestSkip" -}}
{{- $img := index .root.Values.images .name -}}
{{- if not $img.digest }}
checkov.io/skip9: CKV_K8S_43=no digest pinned in values (images.{{ .name }}.digest); set it for online deployments
{{- end -}}
{{- end -}}

{{- define "corral.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "corral.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "corral.tlsSecret" -}}
{{- default (printf "%s-tls" (include "corral.fullname" .)) .Values.ingress.tls.secretName -}}
{{- end -}}

{{- define "corral.llmSecret" -}}
{{- default (printf "%s-llm" (include "corral.fullname" .)) .Values.llm.existingSecret -}}
{{- end -}}

{{/* The agent-server image's uvicorn listens on 8000 (app/Dockerfile CMD); one value everywhere. */}}
{{- define "corral.agentPort" -}}
8000
{{- end -}}

{{/* An integer value as an env var string. Helm parses every number in values files as
     a float64 and `quote` prints large ones in exponent form (4194304 -> "4.194304e+06"),
     which no integer setting accepts; int64 first prints all digits. The schema makes the
     values integers, so nothing is rounded here. */}}
{{- define "corral.envInt" -}}
{{- int64 . | toString | quote -}}
{{- end -}}

{{/* ALLOWED_HOSTS: the ingress host (people), localhost for `kubectl port-forward`, and the
     Services' DNS names (helm test and in-cluster clients), plus auth.allowedHosts. The
     agent answers 421 to any other Host; /healthz and /readyz are exempt (probes use pod IPs). */}}
{{- define "corral.allowedHosts" -}}
{{- $hosts := list "localhost" "127.0.0.1" "::1" -}}
{{- if .Values.ingress.enabled -}}
{{- $hosts = append $hosts .Values.ingress.host -}}
{{- end -}}
{{- range $component := list "ui" "agent-server" -}}
{{- $svc := printf "%s-%s" (include "corral.fullname" $) $component -}}
{{- $hosts = concat $hosts (list $svc (printf "%s.%s" $svc $.Release.Namespace) (printf "%s.%s.svc" $svc $.Release.Namespace) (printf "%s.%s.svc.cluster.local" $svc $.Release.Namespace)) -}}
{{- end -}}
{{- join "," (concat $hosts .Values.auth.allowedHosts | uniq) -}}
{{- end -}}

{{/* COOKIE_SECURE: Secure cookies whenever the ingress terminates TLS. */}}
{{- define "corral.cookieSecure" -}}
{{- if .Values.auth.cookieSecure -}}
{{- .Values.auth.cookieSecure -}}
{{- else if and .Values.ingress.enabled .Values.ingress.tls.enabled -}}
true
{{- else -}}
auto
{{- end -}}
{{- end -}}

{{- define "corral.oidcSecretMounted" -}}
{{- if and (has "oidc" .Values.auth.mode) .Values.auth.oidc.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "corral.oidcCaMounted" -}}
{{- if and (has "oidc" .Values.auth.mode) .Values.auth.oidc.caConfigMap -}}true{{- end -}}
{{- end -}}

{{- define "corral.testTokenSecret" -}}
{{- default (printf "%s-automation-token" (include "corral.fullname" .)) .Values.tests.tokenSecret -}}
{{- end -}}

{{/* The OIDC callback to register at the provider: auth.oidc.redirectUrl, else the ingress
     URL, else the port-forward URL NOTES.txt prints. */}}
{{- define "corral.oidcRedirectUrl" -}}
{{- if .Values.auth.oidc.redirectUrl -}}
{{- .Values.auth.oidc.redirectUrl -}}
{{- else if .Values.ingress.enabled -}}
{{- if .Values.ingress.tls.enabled }}https{{ else }}http{{ end }}://{{ .Values.ingress.host }}/api/auth/oidc/callback
{{- else -}}
http://localhost:8080/api/auth/oidc/callback
{{- end -}}
{{- end -}}

{{/* datasets.existingClaim, or "" (the demo datasets in the images). The default covers
     `helm upgrade --reuse-values` from a release made before the key existed. One claim for
     the agent server (its catalog) and the runner Jobs (their /data), so the two agree. */}}
{{- define "corral.datasetsClaim" -}}
{{- $claim := (.Values.datasets | default dict).existingClaim | default "" -}}
{{- if and $claim (ne (.Values.runner.datasets.source | default "baked") "baked") -}}
{{- fail "datasets.existingClaim and runner.datasets both mount datasets: set only datasets.existingClaim (runner.datasets.source baked)" -}}
{{- end -}}
{{- $claim -}}
{{- end -}}
