{{- define "gateway.labels" -}}
app.kubernetes.io/name: gateway
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "gateway.aggregatorName" -}}
{{ .Release.Name }}-aggregator
{{- end }}

{{- define "gateway.shipperName" -}}
{{ .Release.Name }}-shipper
{{- end }}
