import { createContext, useContext } from "react";
import type { Upload } from "./uploads";

/** The open pipeline's project and its uploads, for forms deep in the canvas (the import node's file picker)
 * without threading them through the editor. `refresh` reloads the list (after a drop uploaded a file). */
export interface ProjectData {
  projectId: number;
  uploads: Upload[] | null;
  refresh: () => void;
}

export const ProjectDataContext = createContext<ProjectData | null>(null);

export const useProjectData = () => useContext(ProjectDataContext);
