{{- define "ssl-train.labels" -}}
app.kubernetes.io/name: ssl-train
app.kubernetes.io/instance: {{ .Values.jobName }}
app.kubernetes.io/component: training
app.kubernetes.io/managed-by: {{ .Values.managedBy }}
ssl/job-name: {{ .Values.jobName }}
ssl/run-id: {{ .Values.runId | quote }}
ssl/kind: {{ .Values.kind }}
{{- end }}

{{- define "ssl-train.podTemplate" -}}
metadata:
  labels:
    {{- include "ssl-train.labels" . | nindent 4 }}
spec:
  {{- if eq .Values.kind "indexed-job" }}
  subdomain: {{ .Values.jobName }}
  restartPolicy: Never
  {{- end }}
  {{- if .Values.serviceAccount }}
  serviceAccountName: {{ .Values.serviceAccount }}
  {{- end }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriod }}
  containers:
    - name: pytorch
      image: {{ .Values.image }}
      {{- if .Values.imagePullPolicy }}
      imagePullPolicy: {{ .Values.imagePullPolicy }}
      {{- end }}
      command:
        - node
        - {{ .Values.appDir }}/bin/ssl-agent.js
      args:
        {{- include "ssl-train.agentArgs" . | nindent 8 }}
      env:
        {{- if eq .Values.kind "indexed-job" }}
        - name: MASTER_ADDR
          value: {{ .Values.jobName }}-0.{{ .Values.jobName }}
        - name: MASTER_PORT
          value: {{ .Values.port | quote }}
        - name: PET_MASTER_ADDR
          value: {{ .Values.jobName }}-0.{{ .Values.jobName }}
        - name: PET_MASTER_PORT
          value: {{ .Values.port | quote }}
        - name: PET_NNODES
          value: {{ .Values.nodes | quote }}
        - name: PET_NPROC_PER_NODE
          value: {{ .Values.nprocPerNode | quote }}
        - name: PET_NODE_RANK
          valueFrom:
            fieldRef:
              fieldPath: metadata.annotations['batch.kubernetes.io/job-completion-index']
        {{- end }}
        - name: SSL_RUN_ID
          value: {{ .Values.runId | quote }}
        - name: SSL_TERMINATION_GRACE_PERIOD
          value: {{ .Values.terminationGracePeriod | quote }}
        {{- if eq .Values.kind "pytorchjob" }}
        - name: SSL_PREEMPTED_EXIT_CODE
          value: "143"
        {{- end }}
        {{- if .Values.env }}
        {{- toYaml .Values.env | nindent 8 }}
        {{- end }}
      {{- if .Values.s3.secret }}
      envFrom:
        - secretRef:
            name: {{ .Values.s3.secret }}
      {{- end }}
      ports:
        - name: {{ if eq .Values.kind "pytorchjob" }}pytorchjob-port{{ else }}rendezvous{{ end }}
          containerPort: {{ .Values.port }}
          protocol: TCP
      {{- if .Values.gpusPerNode }}
      resources:
        limits:
          nvidia.com/gpu: {{ .Values.gpusPerNode }}
      {{- end }}
      volumeMounts:
        - name: config
          mountPath: /etc/ssl-train
          readOnly: true
        - name: workdir
          mountPath: /workspace
  volumes:
    - name: config
      configMap:
        name: {{ .Values.jobName }}-config
    - name: workdir
      {{- if .Values.pvc }}
      persistentVolumeClaim:
        claimName: {{ .Values.pvc }}
      {{- else }}
      emptyDir: {}
      {{- end }}
{{- end }}

{{- define "ssl-train.agentArgs" -}}
- --nproc-per-node
- {{ .Values.nprocPerNode | quote }}
- --
- --config
- /etc/ssl-train/{{ .Values.configFile }}
- --work-dir
- {{ .Values.workDir }}
{{- if .Values.s3.uri }}
- --s3
- {{ .Values.s3.uri }}
{{- end }}
{{- if .Values.s3.endpoint }}
- --s3-endpoint
- {{ .Values.s3.endpoint }}
{{- end }}
- --port
- {{ if eq .Values.kind "trainjob" }}"29400"{{ else }}{{ .Values.port | quote }}{{ end }}
{{- if .Values.workerArgs }}
{{- toYaml .Values.workerArgs | nindent 0 }}
{{- end }}
- --checkpoint-on-signal
- --auto-resume
{{- end }}
