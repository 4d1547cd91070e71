// Dropping CSV / Parquet files onto the canvas: each is uploaded to the project (with a progress bar on the
// canvas) and becomes an import node, at the drop point, that reads it. The editor composes these handlers with
// its own operator drop; everything else lives here.
import { useReactFlow } from "@xyflow/react";
import { useCallback, useState, type DragEvent } from "react";
import { addNode, setLabel, setParams } from "../graph/ops";
import type { Catalogue, GraphDoc, XY } from "../graph/types";
import { useProjectData } from "./projectContext";
import { SendingList } from "./SendingList";
import { importFor, isTableFile, type Upload } from "./uploads";
import { useUploads } from "./useUploads";

const hasFiles = (e: DragEvent) => e.dataTransfer.types.includes("Files");

/** The document with an import node for `upload` at `position`, named after the file; null when no import
 * operator reads its kind. */
export function withImportNode(doc: GraphDoc, catalogue: Catalogue, upload: Upload, position: XY): { doc: GraphDoc; id: string } | null {
  const wanted = importFor(upload);
  const spec = wanted && catalogue.get(wanted.operator);
  if (!wanted || !spec) return null;
  const added = addNode(doc, spec, position);
  const node = added.doc.nodes.find((n) => n.id === added.id)!;
  const withParams = setParams(added.doc, added.id, { ...node.params, ...wanted.params });
  return { doc: setLabel(withParams, added.id, upload.name), id: added.id };
}

interface Options {
  catalogue: Catalogue;
  change: (fn: (doc: GraphDoc) => GraphDoc) => void;
  onError: (message: string) => void;
}

export function useCanvasFileDrop({ catalogue, change, onError }: Options) {
  const project = useProjectData();
  const flow = useReactFlow();
  const { sending, send, dismiss } = useUploads(project?.projectId ?? 0);
  const [over, setOver] = useState(false);

  const onDragOver = useCallback(
    (e: DragEvent): boolean => {
      if (!project || !hasFiles(e)) return false;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
      setOver(true);
      return true;
    },
    [project],
  );
  const onDragLeave = useCallback((e: DragEvent) => e.currentTarget === e.target && setOver(false), []);

  /** True when the drop carried files (handled here); false leaves it to the operator drop. */
  const onDrop = useCallback(
    (e: DragEvent): boolean => {
      if (!project || !e.dataTransfer.files.length) return false;
      e.preventDefault();
      setOver(false);
      const at = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      [...e.dataTransfer.files].forEach((file, i) => {
        if (!isTableFile(file.name)) {
          onError(`${file.name}: only CSV and Parquet files become import nodes (JSON and others: use the Data page)`);
          return;
        }
        void send(file).then((upload) => {
          if (!upload) return;
          project.refresh();
          const wanted = importFor(upload);
          if (!wanted || !catalogue.has(wanted.operator)) {
            onError(`${upload.name} was uploaded, but no import operator reads ${upload.content_type.toUpperCase()} files; it is on the Data page`);
            return;
          }
          const position = { x: Math.round(at.x - 100 + i * 30), y: Math.round(at.y - 20 + i * 90) };
          change((d) => withImportNode(d, catalogue, upload, position)?.doc ?? d);
        });
      });
      return true;
    },
    [project, flow, send, change, catalogue, onError],
  );

  const progress = sending.length ? (
    <div className="canvas-sending">
      <SendingList sending={sending} onDismiss={dismiss} />
    </div>
  ) : null;
  return { over, onDragOver, onDragLeave, onDrop, progress };
}
