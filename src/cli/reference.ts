import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { emptyOutputs, MODEL_PREFIX } from '../drift/monitor.js';
import { AirlockError } from '../errors.js';
import { buildReference } from '../pipeline/drift-stage.js';
import { driftOutputs, driftSpec, driftSummary } from '../store/codecs.js';
import { openStore } from '../store/db.js';
import { insertReference } from '../store/drift.js';
import { who } from './admin.js';
import { rowsOf } from './drift.js';
import { action, printJson } from './output.js';
import { detectFormat } from './read-records.js';

interface ReferenceOptions {
  pipeline: string;
  format?: string;
  predictionField?: string;
  confidenceField?: string;
  note?: string;
  json?: boolean;
}

export function registerReferenceCommand(program: Command): void {
  program
    .command('reference')
    .description(
      "load a pilot sample as a pipeline's drift reference profile: every window of records is compared with it (a new load makes a new version, which later windows use)",
    )
    .argument('<sample>', 'the reference sample (JSONL, JSON array, CSV or TSV; gzip too): records as the pipeline receives them')
    .requiredOption('-p, --pipeline <name>', 'the pipeline')
    .option('--format <format>', 'input format when the file name does not tell: jsonl, json, csv, tsv')
    .option('--prediction-field <field>', "a column of the sample holding the model's label: it becomes the @model.label reference")
    .option(
      '--confidence-field <field>',
      "a column holding the model's (calibrated) confidence: it becomes the @model.confidence reference",
    )
    .option('--note <text>', 'a note stored with the reference')
    .option('--json', 'print { pipeline, version, rows, fields: [name], text_fields: [name], model_outputs: boolean }')
    .action(
      action(async (sample: string, opts: ReferenceOptions, cmd: Command) => {
        const config = loadConfig((cmd.optsWithGlobals() as { config?: string }).config);
        const pipeline = config.pipelines[opts.pipeline];
        if (!pipeline) throw new AirlockError('USAGE', `pipeline "${opts.pipeline}" is not in the config`);
        const format = detectFormat(sample, opts.format);
        const outputs = emptyOutputs();
        const rows: unknown[] = [];
        let predictions = 0;
        for await (const row of rowsOf(sample, format, 'reference')) {
          if (row === null || typeof row !== 'object' || Array.isArray(row)) {
            throw new AirlockError('USAGE', `${sample}: record ${rows.length + 1} is not an object`);
          }
          const { ...fields } = row as Record<string, unknown>;
          if (opts.predictionField || opts.confidenceField) {
            const label = opts.predictionField ? fields[opts.predictionField] : undefined;
            const confidence = opts.confidenceField ? fields[opts.confidenceField] : undefined;
            if (opts.predictionField) delete fields[opts.predictionField];
            if (opts.confidenceField) delete fields[opts.confidenceField];
            const c = typeof confidence === 'number' && Number.isFinite(confidence) ? confidence : null;
            fields[MODEL_PREFIX] = { label: label === undefined || label === null ? null : String(label), confidence: c };
            if (label !== undefined && label !== null) predictions++;
            outputs.records++;
            if (c !== null) {
              outputs.scored++;
              outputs.confidence_sum += c;
            }
          }
          rows.push(fields);
        }
        if ((opts.predictionField || opts.confidenceField) && predictions === 0 && outputs.scored === 0) {
          throw new AirlockError(
            'USAGE',
            `${sample} has no values in ${[opts.predictionField, opts.confidenceField].filter(Boolean).join(' or ')}`,
          );
        }
        const built = buildReference(pipeline.drift, rows, outputs);
        const store = openStore(config.database);
        let version: number | null;
        try {
          await store.migrate();
          version = await insertReference(store.db, {
            pipeline: pipeline.name,
            source: 'sample',
            spec: driftSpec.encode(built.spec),
            summary: driftSummary.encode(built.summary.toJSON()),
            outputs: driftOutputs.encode(outputs),
            rows: rows.length,
            created_at: Date.now(),
            created_by: who(),
            note: opts.note ?? `airlock reference ${sample.split(/[\\/]/).pop()}`,
          });
        } finally {
          await store.close();
        }
        if (version === null) throw new AirlockError('CONFLICT', 'another reference was stored at the same moment; run the command again');
        const fields = Object.keys(built.spec.fields).sort();
        const textFields = fields.filter((f) => built.spec.fields[f].text);
        const out = {
          pipeline: pipeline.name,
          version,
          rows: rows.length,
          fields,
          text_fields: textFields,
          model_outputs: fields.some((f) => f.startsWith(`${MODEL_PREFIX}.`)),
        };
        if (opts.json) return printJson(out);
        process.stdout.write(
          `${pipeline.name}: reference version ${version} from ${rows.length} records, ${fields.length} fields` +
            `${textFields.length ? ` (free text: ${textFields.join(', ')})` : ''}. Windows from now on are compared with it` +
            ` (drift.window: ${pipeline.drift.window}).\n`,
        );
      }),
    );
}
