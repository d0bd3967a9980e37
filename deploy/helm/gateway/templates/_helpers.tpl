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

{{- define "gateway.configName" -}}
{{ .Release.Name }}-config
{{- end }}

{{- define "gateway.serviceAccountName" -}}
{{ .Release.Name }}-aggregator
{{- end }}

{{/* The cluster-info environment both programs resolve the config's ${...} variables from. */}}
{{- define "gateway.clusterInfoEnv" -}}
- name: CLUSTER_NAME
  value: {{ .Values.clusterInfo.clusterName | quote }}
- name: AWS_REGION
  value: {{ .Values.clusterInfo.region | quote }}
- name: HTTP_SERVER
  value: {{ .Values.clusterInfo.httpServer | quote }}
- name: HTTP_PORT
  value: {{ .Values.clusterInfo.httpPort | quote }}
- name: READ_FROM_HEAD
  value: {{ .Values.clusterInfo.readFromHead | quote }}
- name: READ_FROM_TAIL
  value: {{ .Values.clusterInfo.readFromTail | quote }}
- name: HOST_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: HOSTNAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- end }}
