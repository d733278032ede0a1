// @ts-check
/**
 * Small worker task templates to start a custom job from, written the way Ground Truth's
 * samples are (HTML + Liquid + Crowd HTML Elements): `task.input.taskObject` is the
 * item's `source-ref` or `source`, and `grant_read_access` makes a media reference a
 * signed URL. Ground Truth's own loader line is kept so a template made here also runs
 * there (truthset replaces it with its own elements).
 */

const LOADER = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>\n';

/** @type {{id: string, title: string, html: string}[]} */
export const SAMPLES = [
  {
    id: "text-classifier",
    title: "Classifier over text",
    html: `${LOADER}
<crowd-form>
  <crowd-classifier
    name="category"
    categories="['Positive', 'Negative', 'Neutral']"
    header="What is the tone of this text?"
  >
    <classification-target>
      <p>{{ task.input.taskObject }}</p>
    </classification-target>
    <full-instructions header="Tone">
      <p><strong>Positive</strong>: the writer is pleased. <strong>Negative</strong>: unhappy.
      <strong>Neutral</strong>: neither.</p>
    </full-instructions>
    <short-instructions>
      <p>Pick the tone that fits best.</p>
    </short-instructions>
  </crowd-classifier>
</crowd-form>
`,
  },
  {
    id: "bounding-box",
    title: "Bounding boxes over images",
    html: `${LOADER}
<crowd-form>
  <crowd-bounding-box
    name="boundingBox"
    src="{{ task.input.taskObject | grant_read_access }}"
    header="Draw a box around every car and person"
    labels="['car', 'person']"
  >
    <full-instructions header="Bounding boxes">
      <p>Draw one tight box around each object; include the parts you can see only.</p>
    </full-instructions>
    <short-instructions>
      <p>One tight box per object.</p>
    </short-instructions>
  </crowd-bounding-box>
</crowd-form>
`,
  },
  {
    id: "entity-annotation",
    title: "Entity annotation over text",
    html: `${LOADER}
<crowd-form>
  <crowd-entity-annotation
    name="entities"
    header="Highlight every person, place and organization"
    text="{{ task.input.taskObject }}"
    labels="[{'label': 'person', 'shortDisplayName': 'per', 'fullDisplayName': 'Person'},
             {'label': 'place', 'shortDisplayName': 'loc', 'fullDisplayName': 'Place'},
             {'label': 'organization', 'shortDisplayName': 'org', 'fullDisplayName': 'Organization'}]"
  >
    <full-instructions header="Entities">
      <p>Select the words of each name, then its kind. Titles (Mr, Dr) are not part of a name.</p>
    </full-instructions>
    <short-instructions>
      <p>Mark each name with its kind.</p>
    </short-instructions>
  </crowd-entity-annotation>
</crowd-form>
`,
  },
];
