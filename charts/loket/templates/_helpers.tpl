{{- define "loket.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "loket.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "loket.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "loket.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "loket.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loket.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "loket.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Environment shared by the server and the migration job. */}}
{{- define "loket.env" -}}
- name: LOKET_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "secrets.databaseURL.name is required" .Values.secrets.databaseURL.name }}
      key: {{ .Values.secrets.databaseURL.key }}
{{- with .Values.secrets.redisURL }}
{{- if .name }}
- name: LOKET_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
- name: LOKET_HASH_KEY
  valueFrom:
    secretKeyRef:
      name: {{ required "secrets.hashKey.name is required" .Values.secrets.hashKey.name }}
      key: {{ .Values.secrets.hashKey.key }}
{{- with .Values.secrets.databaseReadURL }}
{{- if .name }}
- name: LOKET_DATABASE_READ_URL
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
- name: LOKET_DATA_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ required "secrets.dataKeys.name is required" .Values.secrets.dataKeys.name }}
      key: {{ .Values.secrets.dataKeys.key }}
{{- with .Values.secrets.smtpURL }}
{{- if .name }}
- name: LOKET_SMTP_URL
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- end -}}
