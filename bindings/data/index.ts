/** The datasets that run anywhere (browsers included): in-memory datasets, the data order, the 2-D toys. */
export { ArrayDataset, DataOrder, type Dataset } from './dataset.ts';
export { toyDataset, TOY_NAMES, GAUSSIAN8_CENTERS, GAUSSIAN8_STD, type ToyName } from './toys.ts';
export { AttributeDataset, ANY } from './attributes.ts';
export {
  ConditionedDataset, CONDITION_TASKS, conditionFromInput, describeCondition, inputOf, type ConditionDescription, type ConditionTask,
} from './conditioned.ts';
