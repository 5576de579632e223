// A Dify workflow graph (`workflow.graph`): nodes by id, edges by source handle, the start node.
// Nodes inside iteration and loop containers (those with a `parentId`) form their own sub-graphs.
import { invalidParam } from "../errors.js";

export type GraphNode = {
  id: string;
  type: string;
  title: string;
  data: Record<string, any>;
  /** The iteration or loop container this node sits in. */
  parentId: string | null;
};

export type GraphEdge = { id: string; source: string; sourceHandle: string; target: string };

/** Node types the engine runs. */
export const SUPPORTED_NODE_TYPES = new Set([
  "start", "end", "answer", "llm", "template-transform", "if-else", "code", "http-request",
  "variable-aggregator", "variable-assigner", "assigner", "list-operator", "parameter-extractor",
  "question-classifier", "iteration", "iteration-start", "loop", "loop-start", "loop-end", "human-input", "document-extractor",
]);

/** Node types Dify has that appgraph imports but cannot run yet: a run fails when it reaches one. */
export const REFUSED_NODE_TYPES = new Set(["knowledge-retrieval", "tool", "agent", "datasource", "trigger-webhook"]);

export class WorkflowGraph {
  readonly nodes = new Map<string, GraphNode>();
  readonly outgoing = new Map<string, GraphEdge[]>();
  readonly incoming = new Map<string, GraphEdge[]>();

  private constructor() {}

  /** The graph of the DSL's `workflow.graph`. Assumes parseDsl already checked ids and edge ends. */
  static fromDsl(graph: unknown): WorkflowGraph {
    const g = new WorkflowGraph();
    const raw = graph as { nodes?: any[]; edges?: any[] };
    for (const n of raw.nodes ?? []) {
      if (n?.type === "custom-note" || !n?.data?.type) continue; // canvas notes are not nodes
      g.nodes.set(String(n.id), {
        id: String(n.id),
        type: String(n.data.type),
        title: String(n.data.title ?? n.data.type),
        data: n.data,
        parentId: n.parentId ?? n.data.iteration_id ?? n.data.loop_id ?? null,
      });
    }
    for (const e of raw.edges ?? []) {
      const edge: GraphEdge = {
        id: String(e.id ?? `${e.source}-${e.target}`),
        source: String(e.source),
        sourceHandle: String(e.sourceHandle ?? "source"),
        target: String(e.target),
      };
      if (!g.nodes.has(edge.source) || !g.nodes.has(edge.target)) continue;
      push(g.outgoing, edge.source, edge);
      push(g.incoming, edge.target, edge);
    }
    return g;
  }

  /** The root of the top-level graph, or of a container's sub-graph. */
  startOf(containerId: string | null = null): GraphNode {
    const type = containerId === null ? "start" : null;
    for (const node of this.nodes.values()) {
      if (node.parentId !== containerId) continue;
      if (type ? node.type === type : node.type === "iteration-start" || node.type === "loop-start") return node;
    }
    // A container may name its start node instead.
    const container = containerId ? this.nodes.get(containerId) : null;
    const named = container?.data.start_node_id ? this.nodes.get(container.data.start_node_id) : null;
    if (named) return named;
    throw invalidParam(containerId ? `container ${containerId} has no start node` : "workflow has no start node");
  }

  nodesIn(containerId: string | null): GraphNode[] {
    return [...this.nodes.values()].filter((n) => n.parentId === containerId);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Import-time check of node types: unknown ones are errors, refused ones warnings. */
export function checkNodeTypes(graph: unknown): string[] {
  const warnings: string[] = [];
  const nodes = ((graph as any)?.nodes ?? []) as any[];
  nodes.forEach((n, i) => {
    if (n?.type === "custom-note") return;
    const type = n?.data?.type;
    if (SUPPORTED_NODE_TYPES.has(type)) return;
    if (REFUSED_NODE_TYPES.has(type)) {
      warnings.push(`node ${n.id} (${n.data.title ?? type}) is a ${type} node, which appgraph does not run yet: a run fails when it reaches it`);
      return;
    }
    throw invalidParam(`DSL field workflow.graph.nodes[${i}].data.type: unknown node type ${JSON.stringify(type)} (node ${n?.id})`, `workflow.graph.nodes[${i}].data.type`);
  });
  return warnings;
}
